#!/usr/bin/python3
"""An independent safetensors reader and writer, written from the format's specification
(https://github.com/huggingface/safetensors#format) with only the standard library and numpy,
so ouro's files are checked by code that shares none of ouro's assumptions.

  safetensors_peer.py check FILE EXPECTED_JSON
      Parses FILE per the spec (8-byte little-endian header length N, N bytes of JSON starting
      with '{' and padded only with spaces, ranges tiling the data section exactly) and compares
      it with EXPECTED_JSON: {"metadata": {...}, "aligned": true,
      "tensors": {name: {"dtype": "F32", "shape": [...], "data": [...row-major...]}}}.
      Values must match exactly (float32 data is given as the doubles it converts to).
      Exits 0 when everything matches, 1 with a message otherwise.

  safetensors_peer.py write FILE
      Writes the file tests/fixtures/peer_written.safetensors was made from:
        /usr/bin/python3 tests/io/safetensors_peer.py write tests/fixtures/peer_written.safetensors
      The values are listed in test_safetensors_peer.cpp, which loads it with ouro.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
    # numpy has no bfloat16: BF16 is read as the raw 16 bits and widened by hand below.
    "BF16": np.dtype("<u2"),
}


def fail(message):
    print(f"safetensors_peer: {message}", file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        fail(f"{path}: header length {n} past end of file")
    raw = blob[8:8 + n]
    if not raw.startswith(b"{"):
        fail(f"{path}: header does not start with '{{'")
    text = raw.decode("utf-8")
    body = text.rstrip(" ")
    if not body.endswith("}"):
        fail(f"{path}: header padded with something other than spaces")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            fail(f"{path}: duplicate key in header")
        return dict(pairs)

    header = json.loads(body, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    ranges = sorted((info["data_offsets"][0], info["data_offsets"][1], name) for name, info in header.items())
    pos = 0
    for begin, end, name in ranges:
        if begin != pos:
            fail(f"{path}: tensor {name} starts at {begin}, expected {pos} (gap or overlap)")
        pos = end
    if pos != len(data):
        fail(f"{path}: tensors cover {pos} bytes of a {len(data)}-byte data section")
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if count * dtype.itemsize != end - begin:
            fail(f"{path}: tensor {name}: shape {info['shape']} does not match {end - begin} bytes")
        values = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"])
        if info["dtype"] == "BF16":
            values = (values.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = (info["dtype"], list(info["shape"]), values, begin)
    return n, metadata, tensors


def check(path, expected_path):
    with open(expected_path) as f:
        expected = json.load(f)
    n, metadata, tensors = read(path)
    if expected.get("aligned", True) and (8 + n) % 8 != 0:
        fail(f"{path}: data section starts at byte {8 + n}, not 8-byte aligned")
    if metadata != expected.get("metadata", {}):
        fail(f"{path}: metadata {metadata} != expected {expected.get('metadata', {})}")
    want = expected["tensors"]
    if sorted(tensors) != sorted(want):
        fail(f"{path}: tensor names {sorted(tensors)} != expected {sorted(want)}")
    # ouro promises name-ordered data: offsets must increase with the name.
    order = sorted(tensors, key=lambda k: k.encode("utf-8"))
    starts = [tensors[k][3] for k in order]
    if starts != sorted(starts):
        fail(f"{path}: data is not laid out in name order")
    for name, spec in want.items():
        dtype, shape, values, _ = tensors[name]
        if dtype != spec["dtype"] or shape != spec["shape"]:
            fail(f"{name}: {dtype} {shape} != expected {spec['dtype']} {spec['shape']}")
        expected_values = np.array(spec["data"], dtype=DTYPES[dtype]).reshape(shape)
        if not np.array_equal(values, expected_values):
            fail(f"{name}: values {values.ravel().tolist()} != expected {expected_values.ravel().tolist()}")
    print(f"safetensors_peer: {path}: {len(tensors)} tensors and {len(metadata)} metadata entries match")


def peer_tensors():
    """The tensors `write` stores; test_safetensors_peer.cpp lists the same values."""
    bf16_source = np.array([1.0, -2.0, 0.5, 3.140625], dtype=np.float32)
    return {
        "weight": ("F32", np.array([[0.5, -1.25, 3.0], [4.0, 1e-3, -6.75]], dtype="<f4")),
        "bias": ("F64", np.array([0.1, -0.2, 1e300], dtype="<f8")),
        "steps": ("I64", np.array([[-9007199254740993, 0], [7, 2**62]], dtype="<i8")),
        "half": ("F16", np.array([1.0, -2.0, 0.5, 65504.0, 2.0**-24, np.inf, -0.0], dtype="<f2")),
        "brain": ("BF16", (bf16_source.view(np.uint32) >> 16).astype("<u2")),
        "ids": ("I32", np.array([-2147483648, 0, 2147483647], dtype="<i4")),
        "bytes": ("U8", np.array([[0, 1], [128, 255]], dtype="u1")),
        "scale": ("F32", np.array(2.5, dtype="<f4")),  # a scalar: shape []
        "nothing": ("F32", np.zeros((0, 3), dtype="<f4")),  # empty: no bytes, shape kept
    }


def write(path):
    tensors = peer_tensors()
    # The data is laid out in the dict's order, not by name, and the header is written with
    # separators and padding that ouro never produces, so its reader cannot lean on its writer.
    header, blobs, offset = {}, [], 0
    for name, (dtype, array) in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "written_by": "safetensors_peer.py", "note": "ünïcode ✓"}
    text = json.dumps(header, indent=1, ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8 + 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main(argv):
    if len(argv) == 4 and argv[1] == "check":
        check(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "write":
        write(argv[2])
    else:
        fail(f"usage: {argv[0]} check FILE EXPECTED_JSON | write FILE")


if __name__ == "__main__":
    main(sys.argv)
