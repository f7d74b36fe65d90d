"""Choice of weight-sync transport, IPC handles rebuilt on another device index, and NCCL broadcast metadata."""

import torch

from pro_rl.rollout.nccl_group import free_port, tensor_metadata
from pro_rl.rollout.weight_sync import host_state_dict, tensors_from_ipc, weight_transport


def test_engines_on_the_policys_gpu_take_cuda_ipc_and_others_nccl_or_host():
    assert weight_transport("vllm", "GPU-a", "GPU-a") == "cuda_ipc"
    assert weight_transport("hf", "GPU-a", "GPU-a") == "cuda_ipc"
    assert weight_transport("vllm", "GPU-b", "GPU-a") == "nccl"
    assert weight_transport("hf", "GPU-b", "GPU-a") == "host"
    assert weight_transport("hf", "cpu", "cpu") == "host"  # CPU runs share no device memory


def rebuild(*arguments):
    return arguments


def test_ipc_handles_rebuild_on_the_device_index_of_the_receiving_process():
    arguments = tuple(range(15))  # rebuild_cuda_tensor's arguments; the device index is the 7th
    handles = {"w": (rebuild, arguments)}

    assert tensors_from_ipc(handles) == {"w": arguments}
    moved = tensors_from_ipc(handles, device_index=3)["w"]
    assert moved[6] == 3 and moved[:6] == arguments[:6] and moved[7:] == arguments[7:]


def test_tensor_metadata_lists_names_dtypes_and_shapes_in_state_dict_order():
    state_dict = {"b.weight": torch.zeros(3, 2, dtype=torch.bfloat16), "a.bias": torch.zeros(4)}
    assert tensor_metadata(state_dict) == [("b.weight", "bfloat16", (3, 2)), ("a.bias", "float32", (4,))]
    assert getattr(torch, tensor_metadata(state_dict)[0][1]) is torch.bfloat16  # how the receiver reads it back


def test_host_state_dict_is_a_detached_cpu_copy_and_ports_are_free():
    weight = torch.ones(2, requires_grad=True)
    copied = host_state_dict({"w": weight})["w"]
    assert copied.device.type == "cpu" and not copied.requires_grad and torch.equal(copied, weight.detach())
    assert 0 < free_port() < 65536
