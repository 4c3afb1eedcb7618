#!/usr/bin/env python3
"""One OpenCLIP (PyTorch, CPU) training step of `clip-bench`, timed, beside the raw sgemm rate of torch's BLAS.

Replicates shared/peer/RESULTS.md: open_clip.model.CLIP built from clip-bench.json (22,332,417 parameters),
float32, random 64x64 images and random token ids (context 32), batch --batch-size per process. One step =
forward of both towers + open_clip.loss.ClipLoss + backward + AdamW (lr 5e-4, betas (0.9, 0.98), eps 1e-6,
wd 0.2 with OpenCLIP's no-decay groups) + logit_scale clamp to [0, ln 100], as open_clip_train does it.
With --world-size 2 this script launches itself twice (DDP on CPU without device_ids, gloo on 127.0.0.1;
ClipLoss with local_loss=True, gather_with_grad=True).

Run it with the venv from setup.sh:
    /opt/openclip-venv/bin/python Benchmarks/openclip/step.py --threads 1
    /opt/openclip-venv/bin/python Benchmarks/openclip/step.py --world-size 2 --threads 1
    /opt/openclip-venv/bin/python Benchmarks/openclip/step.py --check      # import + build the model only
Human-readable lines first; the last line of stdout is one JSON object.
"""
import argparse
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FLOPS_PER_SAMPLE = 2.863e9  # per training step (3 x forward), from shared/peer/RESULTS.md
EXPECTED_PARAMS = 22_332_417
SGEMM_SHAPES = ((4096, 512, 512), (4096, 1024, 1024))  # (M, K, N): (M x K) @ (K x N)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch-size", type=int, default=128, help="samples per process (default 128)")
    p.add_argument("--threads", type=int, default=1, help="torch/OMP/MKL threads per process (default 1)")
    p.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    p.add_argument("--world-size", type=int, default=1, help="processes (DDP, gloo); default 1")
    p.add_argument("--config", default=os.path.join(HERE, "clip-bench.json"))
    p.add_argument("--sgemm-reps", type=int, default=3, help="timed reps per sgemm shape (max is taken)")
    p.add_argument("--check", action="store_true", help="import open_clip, build the model, print, exit")
    p.add_argument("--rank", type=int, default=None, help=argparse.SUPPRESS)  # set by the launcher
    return p.parse_args()


def set_thread_env(n):
    # Must happen before torch is imported (OpenMP/MKL read these once).
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[k] = str(n)


def import_open_clip():
    """Import torch, torchvision and open_clip.

    PyPI has only CUDA builds of torchvision for Linux; with the CPU torch its C++ ops (_C.so) cannot load,
    and torchvision 0.28's `import` then fails in _meta_registrations (`operator torchvision::nms does not
    exist`). open_clip needs only torchvision's pure-Python transforms, so on that failure we declare the
    two op schemas torchvision expects (no kernels: nms/qnms stay unusable) and import again.
    """
    import torch
    try:
        import torchvision  # noqa: F401
    except RuntimeError as e:
        if "torchvision::nms" not in str(e):
            raise
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_open_clip._keep = lib  # the Library must stay alive
        import torchvision  # noqa: F401,F811
    import open_clip
    return torch, open_clip


def build_model(torch, open_clip, config_path):
    with open(config_path) as f:
        cfg = json.load(f)
    # output_dict=True as open_clip.create_model sets it for training; float32 (cast_dtype None).
    model = open_clip.model.CLIP(**cfg, output_dict=True)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    return model, cfg, n_params


def make_optimizer(torch, model):
    # open_clip_train/main.py: no weight decay for gains and biases.
    exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n
    named = list(model.named_parameters())
    no_decay = [p for n, p in named if exclude(n, p) and p.requires_grad]
    decay = [p for n, p in named if not exclude(n, p) and p.requires_grad]
    return torch.optim.AdamW(
        [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": 0.2}],
        lr=5e-4, betas=(0.9, 0.98), eps=1e-6,
    )


def training_step(torch, model, ddp_model, loss_fn, optimizer, images, texts):
    """OpenCLIP's training step (main.py's train_one_epoch without AMP): the loss dict summed, backward, AdamW, and the
    logit scale clamped to ln 100; returns a function running one step that returns the total loss."""
    def step():
        optimizer.zero_grad()
        losses = loss_fn(**ddp_model(images, texts), output_dict=True)
        total = sum(losses.values())
        total.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        return float(total.detach())
    return step


def sgemm_gflops(torch, reps):
    best = 0.0
    for m, k, n in SGEMM_SHAPES:
        a = torch.randn(m, k, dtype=torch.float32)
        b = torch.randn(k, n, dtype=torch.float32)
        c = torch.empty(m, n, dtype=torch.float32)
        torch.mm(a, b, out=c)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b, out=c)
            dt = time.perf_counter() - t0
            best = max(best, 2.0 * m * k * n / dt / 1e9)
    return best


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux; MB here means MiB (KiB / 1024), the convention of the project's
    # `peak_rss_mb` (RESULTS.md's 2.80 GiB = 2867 MB).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args, script=None):
    """--world-size N without --rank: start N copies of `script` (default this one; one per rank); rank 0 prints."""
    env = dict(os.environ)
    env.setdefault("MASTER_ADDR", "127.0.0.1")
    env["MASTER_PORT"] = str(free_port())
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    env["WORLD_SIZE"] = str(args.world_size)
    base = [sys.executable, os.path.abspath(script or __file__)] + [a for a in sys.argv[1:]]
    procs = []
    for r in range(args.world_size):
        procs.append(subprocess.Popen(base + ["--rank", str(r)], env=dict(env, RANK=str(r)),
                                      stdout=None if r == 0 else subprocess.DEVNULL))
    rc = 0
    rank0_done = None  # when rank 0 (which prints the result) finished successfully
    try:
        pending = list(procs)
        while pending:
            for p in list(pending):
                code = p.poll()
                if code is None:
                    continue
                pending.remove(p)
                if p is procs[0] and code == 0:
                    rank0_done = time.time()
                if code != 0 and rc == 0:
                    rc = code
                    for q in pending:  # a rank failed: the others would wait for it forever
                        q.terminate()
            # gloo's final barrier/teardown occasionally hangs on the other ranks after rank 0 has printed
            # its result and left: give them 30 s, then stop them (the measurement is complete).
            if rank0_done is not None and pending and time.time() - rank0_done > 30:
                for q in pending:
                    q.terminate()
                    q.wait()
                pending = []
            time.sleep(0.05)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    if rc != 0:
        print(f"step.py: a rank exited with status {rc}", file=sys.stderr)
    return rc


def main():
    args = parse_args()
    if args.world_size > 1 and args.rank is None:
        sys.exit(launch(args))
    rank = args.rank or 0
    world = args.world_size
    set_thread_env(args.threads)

    torch, open_clip = import_open_clip()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234 + rank)
    model, cfg, n_params = build_model(torch, open_clip, args.config)
    say = print if rank == 0 else (lambda *a, **k: None)

    if args.check:
        say(f"torch {torch.__version__} (cuda: {torch.version.cuda}), open_clip {open_clip.__version__}, "
            f"params {n_params:,}" + ("" if n_params == EXPECTED_PARAMS else f" (expected {EXPECTED_PARAMS:,})"))
        sys.exit(0 if n_params == EXPECTED_PARAMS else 1)

    dist = None
    if world > 1:
        import datetime
        import torch.distributed as dist
        dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=600))
        ddp_model = torch.nn.parallel.DistributedDataParallel(model)  # CPU: no device_ids
    else:
        ddp_model = model

    loss_fn = open_clip.loss.ClipLoss(local_loss=True, gather_with_grad=True, cache_labels=True,
                                      rank=rank, world_size=world)
    optimizer = make_optimizer(torch, model)

    b = args.batch_size
    vcfg, tcfg = cfg["vision_cfg"], cfg["text_cfg"]
    images = torch.randn(b, 3, vcfg["image_size"], vcfg["image_size"], dtype=torch.float32)
    texts = torch.randint(0, tcfg["vocab_size"], (b, tcfg["context_length"]), dtype=torch.long)

    step = training_step(torch, model, ddp_model, loss_fn, optimizer, images, texts)

    say(f"OpenCLIP clip-bench: torch {torch.__version__}, open_clip {open_clip.__version__}, "
        f"params {n_params:,}{'' if n_params == EXPECTED_PARAMS else ' (EXPECTED %s)' % format(EXPECTED_PARAMS, ',')}")
    say(f"world size {world}, {args.threads} thread(s)/process, batch {b}/process, "
        f"warmup {args.warmup}, timed steps {args.steps}")

    for i in range(args.warmup):
        t0 = time.perf_counter()
        loss = step()
        say(f"warmup step {i + 1}: {time.perf_counter() - t0:.3f} s, loss {loss:.4f}")

    # sgemm of torch's BLAS, in this process, right before timing (all ranks at once, as the steps run).
    if dist:
        dist.barrier()
    sg = sgemm_gflops(torch, args.sgemm_reps)
    if dist:
        sg_t = torch.tensor([sg], dtype=torch.float64)
        gathered = [torch.zeros(1, dtype=torch.float64) for _ in range(world)]
        dist.all_gather(gathered, sg_t)
        sg_ranks = [float(t) for t in gathered]
        dist.barrier()
    else:
        sg_ranks = [sg]
    # The machine's sgemm rate for this configuration: sum over ranks (measured concurrently).
    sg_total = sum(sg_ranks)

    times = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    if dist:
        # Step time = slowest rank's (the loss all-gather and DDP all-reduce keep ranks in lock-step anyway).
        tt = torch.tensor(times, dtype=torch.float64)
        dist.all_reduce(tt, op=dist.ReduceOp.MAX)
        times = tt.tolist()
        rss = torch.tensor([peak_rss_mb()], dtype=torch.float64)
        dist.all_reduce(rss, op=dist.ReduceOp.MAX)
        rss_max = float(rss)
    else:
        rss_max = peak_rss_mb()
    for i, t in enumerate(times):
        say(f"step {i + 1}: {t:.3f} s")

    step_s = sum(times) / len(times)  # mean over the timed steps
    samples_per_s = world * b / step_s  # global rate
    gflops = samples_per_s * FLOPS_PER_SAMPLE / 1e9
    say(f"sgemm (torch.mm, max of {'x'.join(map(str, SGEMM_SHAPES[0]))} / {'x'.join(map(str, SGEMM_SHAPES[1]))}): "
        + " + ".join(f"{x:.1f}" for x in sg_ranks) + f" GFLOP/s" + (" (ranks, concurrent)" if world > 1 else ""))
    say(f"mean step {step_s:.3f} s (median {statistics.median(times):.3f}): {samples_per_s:.2f} samples/s, "
        f"{gflops:.1f} GFLOP/s = {gflops / sg_total:.3f} of sgemm; peak RSS {rss_max:.0f} MB (max per process)")
    say(json.dumps({
        "samples_per_s": round(samples_per_s, 3),
        "gflops": round(gflops, 2),
        "sgemm_gflops": round(sg_total, 2),
        "gflops_vs_sgemm": round(gflops / sg_total, 4),
        "peak_rss_mb": round(rss_max, 1),
        "world_size": world,
        "threads": args.threads,
        "batch_per_rank": b,
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "params": n_params,
        "step_s": round(step_s, 4),
        "steps": args.steps,
    }))
    if dist:
        dist.barrier()
        dist.destroy_process_group()
    if n_params != EXPECTED_PARAMS:
        sys.exit(2)


if __name__ == "__main__":
    main()
