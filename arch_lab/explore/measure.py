"""``measure_designs``: the measured latency of many designs, a row each, on this machine or on a Ray cluster.

Locally the designs are measured one at a time: two measurements sharing a machine slow each other down and
both numbers are wrong (shared/notes/latency.md, sections 1.9 and 5), and ``measure_latency`` serialises the
process anyway. Ray spreads the designs over machines: one task per design, holding one GPU where the cluster
has GPUs, else ``threads`` CPUs (default one) with torch limited to as many threads, so that tasks placed on
the same node do not fight over its cores. Ray places the tasks and retries what it retries by itself; there
is no scheduler here. Ray is imported only on that path, so the local path runs without it installed.

A design that fails (beyond the request limits, out of memory, any error) is an error row; the others go on.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec

if TYPE_CHECKING:
    import pandas

COLUMNS = ("latency_ms", "throughput_img_s", "device", "error")
"""The table's columns: median latency of one batch (ms), back-to-back throughput (images/s), where the
design ran ("cpu (<model>)" or "cuda (<GPU>)", plus "on <host>" for Ray tasks) and "" or why it failed."""
EXECUTORS = ("local", "ray")
RAY_HINT = "pip install arch_lab[ray]"

OnResult = Callable[[int, dict[str, Any]], None]
"""Called with (the design's index in the input, its row) as each design finishes (progress)."""


def measure_designs(specs: Sequence[ResNetSpec], *, batch_size: int = 1, budget_s: float = 2.0,
                    device: str = "auto", executor: str = "local", address: str | None = None,
                    on_result: OnResult | None = None, threads: int | None = None) -> pandas.DataFrame:
    """Measure each design at ``batch_size`` with ``budget_s`` seconds each; a row per spec, in input order.

    ``executor="local"`` measures here, one design after another (``threads``: torch's CPU threads, default
    its current count). ``executor="ray"`` runs a Ray task per design: ``address`` goes to
    ``ray.init(address=...)`` ("auto" joins the cluster running on this node, "HOST:6379" a remote head,
    None starts a local instance, shut down afterwards); a Ray session already initialised in this process
    is used as it is. Tasks take one GPU each when the cluster has GPUs (unless ``device="cpu"``), else
    ``threads`` CPUs (default 1) and torch uses that many threads. Rows reach ``on_result`` as they finish.

    Bad options raise :class:`SpecError` before anything runs; so does ``executor="ray"`` without Ray.
    """
    import pandas

    if executor not in EXECUTORS:
        raise SpecError("executor", f"{executor!r} is not allowed; choose one of {', '.join(EXECUTORS)}")
    specs = list(specs)
    for index, spec in enumerate(specs):
        if not isinstance(spec, ResNetSpec):
            raise SpecError("specs", f"item {index} is a {type(spec).__name__}, not a ResNetSpec")
    _check_options(batch_size, budget_s, device, threads, cuda_anywhere=executor == "ray")
    rows: list[dict[str, Any]] = [{}] * len(specs)

    def record(index: int, row: dict[str, Any]) -> None:
        rows[index] = row
        if on_result is not None:
            on_result(index, row)

    if executor == "local":
        for index, spec in enumerate(specs):
            record(index, _measure_one(spec, batch_size, budget_s, device, threads))
    else:
        _measure_on_ray(specs, batch_size, budget_s, device, threads, address, record)
    return pandas.DataFrame(rows, columns=list(COLUMNS))


def _check_options(batch_size: int, budget_s: float, device: str, threads: int | None, cuda_anywhere: bool) -> None:
    """Refuse bad options once, not as an error row per design. On Ray the GPUs and cores are the cluster's,
    so this machine's do not bound ``device="cuda"`` or ``threads`` (:func:`_measure_on_ray` checks the cluster)."""
    from arch_lab.latency import resolve_options

    if not cuda_anywhere:
        resolve_options(device=device, batch_sizes=(batch_size,), budget_s=budget_s, threads=threads)
        return
    resolve_options(device=device, batch_sizes=(batch_size,), budget_s=budget_s, cuda_available=True)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise SpecError("threads", f"{threads!r} is not allowed; expected an integer >= 1 (CPUs per Ray task)")


def _measure_one(spec: ResNetSpec, batch_size: int, budget_s: float, device: str,
                 threads: int | None) -> dict[str, Any]:
    """One design's row; any failure becomes its error, so the sweep goes on."""
    from arch_lab.latency import measure_latency

    try:
        result = measure_latency(spec, device=device, batch_sizes=(batch_size,), budget_s=budget_s, threads=threads)
    except Exception as exc:
        return _error_row(exc)
    row = result.rows[0]
    where = f"{result.device_type} ({result.device_name})"
    if row.error is not None:
        return {"latency_ms": math.nan, "throughput_img_s": math.nan, "device": where, "error": row.error}
    throughput = math.nan if row.throughput_img_s is None else row.throughput_img_s
    return {"latency_ms": row.median_ms, "throughput_img_s": throughput, "device": where, "error": ""}


def _error_row(exc: BaseException) -> dict[str, Any]:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return {"latency_ms": math.nan, "throughput_img_s": math.nan, "device": "",
            "error": f"{type(exc).__name__}: {first_line[:300]}"}


def _ray_task(spec: ResNetSpec, batch_size: int, budget_s: float, device: str, threads: int) -> dict[str, Any]:
    """Runs in a Ray worker: the design's row, its device label naming the node."""
    row = _measure_one(spec, batch_size, budget_s, device, threads)
    if row["device"]:
        row["device"] += f" on {socket.gethostname()}"
    return row


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SpecError("executor", f"'ray' needs the ray package, which is not installed; {RAY_HINT}") from None
    return ray


def _measure_on_ray(specs: list[ResNetSpec], batch_size: int, budget_s: float, device: str, threads: int | None,
                    address: str | None, record: OnResult) -> None:
    """A task per design, rows recorded in completion order (``ray.wait``); a task that fails in Ray itself
    (a dead worker after Ray's own retries) is that design's error row."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        # a local instance needs no dashboard (it costs seconds to start); joining a cluster takes no such option
        ray.init(address=address, **({"include_dashboard": False} if address is None else {}))
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        if device == "cuda" and gpus < 1:
            raise SpecError("device", "'cuda': the Ray cluster has no GPU; choose auto or cpu")
        use_gpu = device != "cpu" and gpus >= 1
        cpus = threads or 1
        largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]), default=0)
        if cpus > largest:  # Ray would queue such a task forever, warning only in its log
            raise SpecError("threads", f"{cpus} CPUs per task, but the largest node of the Ray cluster has {largest:g}")
        resources = {"num_gpus": 1, "num_cpus": cpus} if use_gpu else {"num_cpus": cpus}
        task = ray.remote(**resources)(_ray_task)
        where = "cuda" if use_gpu else "cpu"
        pending = {task.remote(spec, batch_size, budget_s, where, cpus): index for index, spec in enumerate(specs)}
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready)
            try:
                row = ray.get(ready)
            except Exception as exc:
                row = _error_row(exc)
            record(index, row)
    finally:
        if started_here:
            ray.shutdown()
