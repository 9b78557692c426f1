"""Latency options (every refusal names the option), backend flags, GPU peaks and OOM detection."""

from __future__ import annotations

import pytest
import torch

from arch_lab import SpecError
from arch_lab.latency import parse_batch_sizes, resolve_options
from arch_lab.latency.devices import _PRECISION_PATHS, _precision_owner, backend_flags, is_out_of_memory, peak_tflops


@pytest.mark.parametrize(("option", "kwargs", "words"), [
    ("device", {"device": "gpu"}, ["auto, cpu, cuda"]),
    ("device", {"device": "cuda"}, ["no CUDA GPU", "auto or cpu"]),
    ("dtype", {"dtype": "int8"}, ["fp32, tf32, bf16, fp16"]),
    ("dtype", {"dtype": "tf32"}, ["'tf32'", "needs a CUDA GPU", "fp32, bf16, fp16"]),
    ("device", {"device": "nonsense"}, ["'nonsense' is not allowed", "auto, cpu, cuda"]),
    ("device", {"device": "cuda:0"}, ["auto, cpu, cuda"]),
    ("mode", {"mode": "jit"}, ["eager, cuda_graph, compile, compile-max-autotune, compile-reduce-overhead"]),
    ("mode", {"mode": "cuda_graph"}, ["'cuda_graph'", "needs a CUDA GPU", "eager, compile, compile-max-autotune"]),
    ("mode", {"mode": "compile-reduce-overhead"}, ["needs a CUDA GPU", "eager, compile, compile-max-autotune"]),
    ("channels_last", {"channels_last": "yes"}, ["true or false"]),
    ("batch_sizes", {"batch_sizes": []}, ["non-empty"]),
    ("batch_sizes", {"batch_sizes": 8}, ["non-empty list"]),
    ("batch_sizes", {"batch_sizes": [1, 0]}, [">= 1"]),
    ("batch_sizes", {"batch_sizes": [1.5]}, [">= 1"]),
    ("batch_sizes", {"batch_sizes": [True]}, [">= 1"]),
    ("batch_sizes", {"batch_sizes": list(range(1, 10))}, ["at most 8"]),
    ("budget_s", {"budget_s": 0}, ["> 0"]),
    ("budget_s", {"budget_s": float("nan")}, ["> 0"]),
    ("budget_s", {"budget_s": 601}, ["<= 600"]),
    ("budget_s", {"budget_s": "10"}, ["> 0"]),
    ("threads", {"threads": 0}, ["from 1 to"]),
    ("threads", {"threads": 10_000}, ["from 1 to"]),
])
def test_bad_options_name_the_option_and_what_is_allowed(option, kwargs, words):
    with pytest.raises(SpecError) as info:
        resolve_options(cuda_available=False, **kwargs)
    assert info.value.field == option
    for word in words:
        assert word in str(info.value)


def test_cuda_options_are_accepted_where_cuda_is_available():
    options = resolve_options(dtype="tf32", mode="cuda_graph", cuda_available=True)
    assert (options.device_type, options.dtype, options.mode) == ("cuda", "tf32", "cuda_graph")
    assert resolve_options(mode="compile-reduce-overhead", cuda_available=True).mode == "compile-reduce-overhead"
    assert resolve_options(mode="compile-max-autotune", cuda_available=False).mode == "compile-max-autotune"
    assert resolve_options(device="cpu", cuda_available=True).device_type == "cpu"
    assert resolve_options(cuda_available=False).device_type == "cpu"


def test_defaults_and_batch_sizes_sorted_without_duplicates():
    options = resolve_options(batch_sizes=[64, 1, 8, 1], cuda_available=False)
    assert options.batch_sizes == (1, 8, 64)
    assert options.threads == torch.get_num_threads()
    assert (options.dtype, options.mode, options.channels_last, options.budget_s) == ("fp32", "eager", False, 10.0)
    assert resolve_options(dtype="bf16", cuda_available=False).torch_dtype is torch.bfloat16
    assert resolve_options(dtype="fp16", cuda_available=False).torch_dtype is torch.float16


def test_parse_batch_sizes():
    assert parse_batch_sizes("1,8,64") == (1, 8, 64)
    assert parse_batch_sizes(" 8, 2 ") == (2, 8)
    for bad in ("1,x", "", "0"):
        with pytest.raises(SpecError):
            parse_batch_sizes(bad)


def _tf32_state() -> dict[str, object]:
    """Every TF32 switch, through the new API and the legacy one (a legacy read raises on a mixed state)."""
    state: dict[str, object] = {path: getattr(*_precision_owner(path)) for path in _PRECISION_PATHS}
    for name, read in (("float32_matmul_precision", torch.get_float32_matmul_precision),
                       ("matmul.allow_tf32", lambda: torch.backends.cuda.matmul.allow_tf32),
                       ("cudnn.allow_tf32", lambda: torch.backends.cudnn.allow_tf32)):
        try:
            state[name] = read()
        except RuntimeError as exc:
            state[name] = f"raises: {exc}"[:40]
    return state


@pytest.mark.parametrize(("dtype", "precision", "legacy", "tf32"), [
    ("fp32", "ieee", "highest", False), ("tf32", "tf32", "high", True), ("bf16", "ieee", "highest", False)])
def test_cuda_backend_flags_are_set_consistently_and_restored(dtype, precision, legacy, tf32):
    # Finding 8: with only the new API's matmul and conv switches set, torch.get_float32_matmul_precision()
    # (which Inductor reads when it autotunes) raises. The flags are process globals that exist without a
    # GPU, so all of this is testable here.
    before = (_tf32_state(), torch.backends.cudnn.benchmark, torch.get_num_threads())
    with backend_flags("cuda", dtype, threads=1) as flags:
        inside = _tf32_state()
        assert torch.backends.cudnn.benchmark is True and torch.get_num_threads() == 1
    assert inside["float32_matmul_precision"] == legacy                       # readable, and right
    assert inside["matmul.allow_tf32"] is tf32 and inside["cudnn.allow_tf32"] is tf32
    assert inside["cuda.matmul.fp32_precision"] == precision
    assert inside["cudnn.conv.fp32_precision"] == inside["cudnn.rnn.fp32_precision"] == precision
    assert flags == {"threads": 1, "cudnn_benchmark": True, "float32_matmul_precision": legacy,
                     "cudnn_allow_tf32": tf32, "matmul_fp32_precision": precision, "conv_fp32_precision": precision}
    assert (_tf32_state(), torch.backends.cudnn.benchmark, torch.get_num_threads()) == before


def test_a_previous_tf32_setting_is_restored_exactly():
    torch.set_float32_matmul_precision("high")                # a caller who enabled TF32 matmuls
    try:
        before = _tf32_state()
        with backend_flags("cuda", "fp32", threads=1):
            assert torch.get_float32_matmul_precision() == "highest"
        assert _tf32_state() == before and torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision("highest")


def test_flags_are_restored_after_an_error_and_left_alone_on_cpu():
    before = (torch.backends.cudnn.benchmark, torch.backends.cudnn.conv.fp32_precision, torch.get_num_threads())
    with pytest.raises(RuntimeError), backend_flags("cpu", "fp32", threads=1) as flags:
        assert torch.backends.cudnn.benchmark == before[0] and flags["cudnn_benchmark"] is None
        raise RuntimeError("boom")
    assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.conv.fp32_precision,
            torch.get_num_threads()) == before


@pytest.mark.parametrize(("name", "dtype", "sms", "expected"), [
    # Dense peaks: half the datasheet's "with sparsity" tensor figures (H100 BF16 1,979 -> 989.4 TFLOP/s).
    ("NVIDIA H100 80GB HBM3", "bf16", 132, ("H100 SXM", 1978.9 / 2)),
    ("NVIDIA H100 80GB HBM3", "tf32", 132, ("H100 SXM", 989.4 / 2)),
    ("NVIDIA H100 80GB HBM3", "fp32", 132, ("H100 SXM", 66.9)),
    ("NVIDIA H100 PCIe", "fp16", 114, ("H100 PCIe", 1513 / 2)),
    ("NVIDIA H200", "bf16", 132, ("H200 SXM", 1978.9 / 2)),
    ("NVIDIA A100-SXM4-80GB", "tf32", 108, ("A100", 156.0)),
    ("NVIDIA A100 80GB PCIe", "bf16", 108, ("A100", 312.0)),
    ("NVIDIA H200 NVL", "bf16", 132, None),
    ("NVIDIA H100 NVL", "bf16", 132, None),
    ("NVIDIA GeForce RTX 4090", "fp16", 128, None),
    # Finding 9: a MIG slice keeps the full GPU's name but has only some of its SMs: no peak is claimed.
    ("NVIDIA H100 80GB HBM3", "bf16", 60, None),
    ("NVIDIA A100-SXM4-80GB", "bf16", 14, None),
])
def test_dense_peaks_of_known_gpus(name, dtype, sms, expected):
    found = peak_tflops(name, dtype, sms)
    if expected is None:
        assert found is None
    else:
        assert found[0] == expected[0] and found[1] == pytest.approx(expected[1], abs=0.1)


def test_out_of_memory_is_recognised_through_wrappers():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory"))
    try:
        try:
            raise torch.OutOfMemoryError("CUDA out of memory")
        except torch.OutOfMemoryError as oom:
            raise RuntimeError("backend compiler failed") from oom
    except RuntimeError as wrapped:
        assert is_out_of_memory(wrapped)
    try:
        torch.empty(1 << 62, dtype=torch.uint8)  # the CPU allocator refuses at once, allocating nothing
    except RuntimeError as cpu_oom:
        assert is_out_of_memory(cpu_oom)
    assert is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("DefaultCPUAllocator: can't allocate memory"))
