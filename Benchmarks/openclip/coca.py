#!/usr/bin/env python3
"""OpenCLIP 3.3.0's CoCa on CPU, timed: training steps (`train`) or caption generation (`generate`).

The peer of `swiftclip bench-step --task coca` and `swiftclip bench-caption` in Benchmarks/caption.sh, on the same
CoCa config (an OpenCLIP CoCa JSON; SwiftCLIP's `custom_text` key is dropped), float32, random images and token ids.

train:    one step = forward of open_clip.coca_model.CoCa + open_clip.loss.CoCaLoss (caption weight 2, contrastive
          weight 1, local_loss + gather_with_grad) + backward + AdamW (as step.py) + logit_scale clamp; --world-size 2
          runs DDP on gloo like step.py (which it reuses). Run it with the venv of setup.sh WITHOUT transformers:
          open_clip imports transformers at import time when it is installed, which would add its memory to the RSS.
generate: CoCa.generate() (greedy = generation_type "top_k" with top_k 1; beam search = "beam_search" with
          --num-beams beams in one group) on --batch-size images, --seq-len tokens with the end token banned below
          --min-seq-len, so every caption has the same length on both sides. Needs transformers==4.56.2
          (the venv /opt/openclip-coca-venv of setup.sh).
Human-readable lines first; the last line of stdout is one JSON object.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import step  # noqa: E402  (the launcher, imports, optimizer and RSS of the CLIP peer)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["train", "generate"])
    p.add_argument("--config", default=os.path.join(HERE, "..", "..", "cluster-configs", "models", "coca-small.json"))
    p.add_argument("--batch-size", type=int, default=128, help="samples (images) per process")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=3, help="timed steps (train) or timed generate() calls (generate)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--world-size", type=int, default=1, help="train only: processes (DDP, gloo)")
    p.add_argument("--num-beams", type=int, default=1, help="generate: 1 greedy, K beam search with K beams")
    p.add_argument("--seq-len", type=int, default=20)
    p.add_argument("--min-seq-len", type=int, default=19)
    p.add_argument("--rank", type=int, default=None, help=argparse.SUPPRESS)
    return p.parse_args()


def build(torch, open_clip, path):
    with open(path) as f:
        cfg = json.load(f)
    cfg.pop("custom_text", None)
    model = open_clip.coca_model.CoCa(**cfg)
    return model, cfg, sum(p.numel() for p in model.parameters())


def train(args, torch, open_clip, rank):
    world = args.world_size
    model, cfg, n_params = build(torch, open_clip, args.config)
    model.train()
    say = print if rank == 0 else (lambda *a, **k: None)
    dist = None
    ddp_model = model
    if world > 1:
        import datetime
        import torch.distributed as dist
        dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=600))
        ddp_model = torch.nn.parallel.DistributedDataParallel(model)
    loss_fn = open_clip.loss.CoCaLoss(caption_loss_weight=2.0, clip_loss_weight=1.0, local_loss=True, gather_with_grad=True,
                                      cache_labels=True, rank=rank, world_size=world)
    optimizer = step.make_optimizer(torch, model)
    b, v, t = args.batch_size, cfg["vision_cfg"], cfg["text_cfg"]
    images = torch.randn(b, 3, v["image_size"], v["image_size"])
    # As SwiftCLIP's random data: random lengths 2...context, random ids, the end id (the largest) last, pad (0) after.
    ctx, vocab = t["context_length"], t["vocab_size"]
    texts = torch.zeros(b, ctx, dtype=torch.long)
    for row in range(b):
        n = 2 + int(torch.randint(0, max(ctx - 1, 1), ()))
        texts[row, :n - 1] = torch.randint(1, vocab - 1, (n - 1,))
        texts[row, n - 1] = vocab - 1

    one_step = step.training_step(torch, model, ddp_model, loss_fn, optimizer, images, texts)

    say(f"OpenCLIP CoCa {os.path.basename(args.config)}: torch {torch.__version__}, open_clip {open_clip.__version__}, "
        f"params {n_params:,}; world size {world}, {args.threads} thread(s)/process, batch {b}/process")
    for _ in range(args.warmup):
        one_step()
    times = []
    for i in range(args.steps):
        if dist:
            dist.barrier()
        t0 = time.perf_counter()
        loss = one_step()
        times.append(time.perf_counter() - t0)
        say(f"step {i + 1}: {times[-1]:.3f} s, loss {loss:.4f}")
    rss = step.peak_rss_mb()
    if dist:
        tt = torch.tensor(times, dtype=torch.float64)
        dist.all_reduce(tt, op=dist.ReduceOp.MAX)
        times = tt.tolist()
        r = torch.tensor([rss], dtype=torch.float64)
        dist.all_reduce(r, op=dist.ReduceOp.MAX)
        rss = float(r)
    step_s = statistics.median(times)
    result = {"samples_per_s": round(world * b / step_s, 3), "step_s": round(step_s, 4), "peak_rss_mb": round(rss, 1),
              "world_size": world, "threads": args.threads, "batch_per_rank": b, "params": n_params}
    say(f"median step {step_s:.3f} s: {result['samples_per_s']:.2f} samples/s; peak RSS {rss:.0f} MB (max per process)")
    say(json.dumps(result))
    if dist:
        dist.barrier()
        dist.destroy_process_group()


def generate(args, torch, open_clip):
    model, cfg, n_params = build(torch, open_clip, args.config)
    model.eval()
    v = cfg["vision_cfg"]
    images = torch.randn(args.batch_size, 3, v["image_size"], v["image_size"])
    if args.num_beams == 1:
        kwargs = dict(generation_type="top_k", top_k=1)
    else:
        kwargs = dict(generation_type="beam_search", num_beams=args.num_beams, num_beam_groups=1)
    # The start and end ids of a vocabulary of N: N - 2 and N - 1, as the built-in BPE and CLIP's BPE place them.
    vocab = cfg["text_cfg"]["vocab_size"]
    kwargs.update(seq_len=args.seq_len, min_seq_len=args.min_seq_len, sot_token_id=vocab - 2, eos_token_id=vocab - 1)
    times, lengths = [], set()
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model.generate(images, **kwargs)
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
        lengths.add(int(out.shape[1]))
    seconds = statistics.median(times)
    result = {"captions_per_s": round(args.batch_size / seconds, 3), "seconds_per_batch": round(seconds, 4),
              "batch": args.batch_size, "num_beams": args.num_beams, "tokens": sorted(lengths), "peak_rss_mb": round(step.peak_rss_mb(), 1),
              "params": n_params}
    print(f"OpenCLIP CoCa generate ({'greedy' if args.num_beams == 1 else f'{args.num_beams} beams'}), batch {args.batch_size}, "
          f"{args.seq_len} tokens: median {seconds:.3f} s per batch, {result['captions_per_s']:.2f} captions/s")
    print(json.dumps(result))


def main():
    args = parse_args()
    if args.mode == "train" and args.world_size > 1 and args.rank is None:
        sys.exit(step.launch(args, script=__file__))
    step.set_thread_env(args.threads)
    torch, open_clip = step.import_open_clip()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234 + (args.rank or 0))
    if args.mode == "train":
        train(args, torch, open_clip, args.rank or 0)
    else:
        generate(args, torch, open_clip)


if __name__ == "__main__":
    main()
