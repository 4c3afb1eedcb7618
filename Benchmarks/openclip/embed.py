#!/usr/bin/env python3
"""OpenCLIP's image embedding throughput beside `swiftclip embed` (Benchmarks/embed.sh).

    embed.py --write-weights FILE     build clip-bench (seed 0) and save its state dict as safetensors, for
                                      `swiftclip embed --weights FILE --model clip-bench`
    embed.py --images DIR             time model.encode_image(x, normalize=True) under torch.no_grad() over every
                                      image of DIR (decoded and preprocessed with OpenCLIP's eval transform
                                      beforehand, not timed), --batch-size at a time, on --threads threads

The model is open_clip.model.CLIP(**clip-bench.json) in eval mode, as step.py builds it. Human-readable lines first;
the last line of stdout is one JSON object.
"""
import argparse
import glob
import json
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=os.path.join(HERE, "clip-bench.json"))
    p.add_argument("--write-weights", help="safetensors file to write the seeded model's weights to")
    p.add_argument("--images", help="folder of images (searched recursively for .png and .jpg)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ours", help="embeddings folder swiftclip embed wrote for the same images: report the agreement")
    return p.parse_args()


def save_safetensors(tensors, path):
    """The safetensors layout: an 8-byte little-endian header length, the JSON header, then the raw tensors."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)


def main():
    args = parse_args()
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[k] = str(args.threads)
    sys.path.insert(0, HERE)
    from step import build_model, import_open_clip

    torch, open_clip = import_open_clip()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, cfg, _ = build_model(torch, open_clip, args.config)
    model.eval()
    if args.write_weights:
        save_safetensors(model.state_dict(), args.write_weights)
        print(f"openclip: wrote {len(model.state_dict())} tensors to {args.write_weights}")
        print(json.dumps({"tensors": len(model.state_dict())}))
        return

    from PIL import Image
    size = cfg["vision_cfg"]["image_size"]
    transform = open_clip.transform.image_transform(size, is_train=False)
    files = sorted(glob.glob(os.path.join(args.images, "**", "*.png"), recursive=True)
                   + glob.glob(os.path.join(args.images, "**", "*.jpg"), recursive=True))
    pixels = torch.stack([transform(Image.open(f).convert("RGB")) for f in files])
    with torch.no_grad():
        model.encode_image(pixels[: min(8, len(files))], normalize=True)  # warm-up
        start = time.perf_counter()
        for first in range(0, len(files), args.batch_size):
            model.encode_image(pixels[first: first + args.batch_size], normalize=True)
        seconds = time.perf_counter() - start
    rate = len(files) / seconds
    print(f"openclip: {len(files)} images in {seconds:.2f} s: {rate:.1f} images/s (encode_image only, {args.threads} thread)")
    result = {"images": len(files), "seconds": seconds, "images_per_s": rate}
    if args.ours:
        result["min_cosine_vs_ours"] = agreement(torch, model, pixels, files, args.ours)
        print(f"openclip: lowest cosine between its and swiftclip's embedding of an image: {result['min_cosine_vs_ours']:.6f}")
    print(json.dumps(result))


def agreement(torch, model, pixels, files, folder):
    """The lowest cosine, over the images, between OpenCLIP's embedding and the one swiftclip embed stored."""
    import numpy
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    rows = {}
    for shard in manifest["shards"]:
        vectors = numpy.load(os.path.join(folder, shard["name"] + ".img.npy")).astype(numpy.float32)
        with open(os.path.join(folder, shard["name"] + ".meta.jsonl")) as f:
            for row, line in enumerate(f):
                rows[os.path.realpath(json.loads(line)["source"])] = vectors[row]
    with torch.no_grad():
        theirs = torch.cat([model.encode_image(pixels[i: i + 256], normalize=True) for i in range(0, len(files), 256)]).numpy()
    ours = numpy.stack([rows[os.path.realpath(f)] for f in files])
    return float((theirs * ours).sum(axis=1).min())


if __name__ == "__main__":
    main()
