#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/: a few valid inputs
and near-valid ones (one field wrong) per target, small enough to commit. Deterministic:
running it again rewrites the same bytes. Usage: python3 fuzz/make_corpus.py"""
import gzip
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- safetensors: 8-byte little-endian header length, JSON header, data section.
def safetensors(entries, data, metadata=None, pad=True, header_text=None):
    header = {}
    for name, (dtype, shape, begin, end) in entries.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_text if header_text is not None else json.dumps(header, separators=(",", ":"))
    raw = text.encode("utf-8")
    if pad:
        raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def safetensors_seeds():
    f32 = struct.pack("<4f", 1.0, -2.5, 3.25, 0.0)
    write("safetensors", "f32_2x2", safetensors({"w": ("F32", [2, 2], 0, 16)}, f32))
    write("safetensors", "mixed_with_metadata",
          safetensors({"a": ("F16", [3], 0, 6), "b": ("BF16", [1, 2], 6, 10), "c": ("I64", [1], 10, 18),
                       "d": ("U8", [2], 18, 20), "e": ("BOOL", [2], 20, 22), "f": ("I32", [1], 22, 26),
                       "g": ("F64", [1], 26, 34)},
                      struct.pack("<3H", 0x3C00, 0x7C00, 0x0001) + struct.pack("<2H", 0x3F80, 0xFF80) +
                      struct.pack("<q", -7) + b"\x00\xff" + b"\x00\x02" + struct.pack("<i", -5) +
                      struct.pack("<d", 0.5),
                      metadata={"format": "pt", "ouro.config": "[model]\ntype = \"mlp\"\n"}))
    write("safetensors", "empty_and_scalar",
          safetensors({"empty": ("F32", [0, 3], 0, 0), "scalar": ("F32", [], 0, 4)}, struct.pack("<f", 9.0)))
    write("safetensors", "no_tensors", safetensors({}, b"", metadata={}))
    # Near-valid: each breaks one rule the reader checks.
    write("safetensors", "bad_truncated_data", safetensors({"w": ("F32", [2, 2], 0, 16)}, f32[:10]))
    write("safetensors", "bad_overlap",
          safetensors({"a": ("F32", [2], 0, 8), "b": ("F32", [2], 4, 12)}, f32[:12]))
    write("safetensors", "bad_gap", safetensors({"a": ("F32", [1], 4, 8)}, f32[:8]))
    write("safetensors", "bad_dtype", safetensors({"w": ("F8_E4M3", [4], 0, 4)}, b"\x01\x02\x03\x04"))
    write("safetensors", "bad_shape_overflow",
          safetensors({"w": ("F32", [4294967296, 4294967296], 0, 16)}, f32))
    write("safetensors", "bad_header_length", struct.pack("<Q", 1 << 40) + b"{}")
    write("safetensors", "bad_duplicate_key",
          safetensors({}, f32, header_text='{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                                           '"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'))


# --- config: TOML text, then after a NUL the --set overrides, one per line.
def config_seeds():
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if name.endswith(".toml"):
            with open(os.path.join(ROOT, "examples", name), "rb") as f:
                text = f.read()
            # Comments cost the fuzzer mutations and teach it nothing: keep the keys only.
            lines = [l.split(b"#")[0].rstrip() if not l.strip().startswith(b"path") else l.rstrip()
                     for l in text.splitlines()]
            write("config", name[:-5], b"\n".join(l for l in lines if l) + b"\n")
    write("config", "mlp_with_overrides",
          '[model]\ntype = "mlp"\nhidden_size = 8\n[data]\npath = "iris.csv"\n[train]\nrun_dir = "runs/x"\n'
          "\0optim.lr=0.5\ntrain.epochs=3\ndata.header=false\nmodel.activation=relu\n")
    write("config", "finetune_lora",
          '[model]\ntype = "gpt"\n[data]\npath = "fortunes"\ntokenizer = "byte"\n[train]\nrun_dir = "r"\n'
          '[finetune]\nmode = "lora"\ninit_from = "runs/base"\nlora_rank = 4\nlora_targets = "c_attn, c_proj"\n')
    write("config", "bad_unknown_key",
          '[model]\ntype = "char_lstm"\nhiden_size = 3\n[data]\npath = "f"\n[train]\nrun_dir = "r"\n')
    write("config", "bad_range", '[model]\ntype = "mlp"\ndropout = 1.5\n[data]\npath = "f"\n[train]\nrun_dir = "r"\n'
                                 "\0train.batch_size=-1\n")
    write("config", "bad_syntax", '[model\ntype = "gpt\n')
    write("config", "bad_string_escapes",
          '[model]\ntype = "mlp"\n[data]\npath = "a\\"b\\\\c\\u00e9\\n\\t"\n[train]\nrun_dir = \'lit\'\n')


# --- csv: two option bytes (see fuzz/csv.cpp), then the text.
def csv_seeds():
    iris = ("sepal length,sepal width,petal length,petal width,label\n"
            "5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,0\n6.3,3.3,6.0,2.5,2\n")
    write("csv", "iris_header_last_label", bytes([0x01, 0x07]) + iris.encode())
    write("csv", "named_label_quoted", bytes([0x01, 0x10]) +
          b'x,"a, quoted",label\n1,"2",3\n+4.5e1, "6" ,0\r\n\r\n7,8,1\n')
    write("csv", "semicolon_float_label", bytes([0x25, 0x03]) + b"\xef\xbb\xbf1;2;3.5\n4;5;-6e-3\n")
    write("csv", "no_label_two_headers", bytes([0x02, 0x08]) + b"meta,1\nx,y\n1,2\n3,4\n")
    write("csv", "features_by_index", bytes([0x00, 0x25]) + b"1,2,3,4\n5,6,7,8\n")
    write("csv", "bad_ragged", bytes([0x00, 0x07]) + b"1,2,3\n4,5\n")
    write("csv", "bad_class_id", bytes([0x00, 0x07]) + b"1,2,-1\n1,2,1.5\n1,2,nan\n")
    write("csv", "bad_text", bytes([0x00, 0x07]) + b'1,"unterminated\n2,x\n')


# GPT-2's byte -> stand-in character (bytes_to_unicode of its encoder.py).
def byte_stand_ins():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# --- bpe_load: encoder.json NUL vocab.bpe NUL text.
def bpe_load_seeds():
    stand = byte_stand_ins()
    symbols = [stand[b] for b in range(256)]
    g = stand[ord(" ")]
    merges = [("t", "h"), ("th", "e"), (g, "the"), ("i", "n"), ("in", "g"), ("e", "r")]
    for a, b in merges:
        symbols.append(a + b)
    encoder = json.dumps({s: i for i, s in enumerate(symbols)}, ensure_ascii=False, separators=(",", ":"))
    vocab = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    write("bpe_load", "small", (encoder + "\0" + vocab + "\0" + "the thing in the ring").encode())
    write("bpe_load", "small_crlf_no_version",
          (encoder + "\0" + vocab.replace("#version: 0.2\n", "").replace("\n", "\r\n") + "\0" + "\xff\xfe bytes").encode("utf-8", "surrogateescape"))
    write("bpe_load", "bad_merge_symbol", (encoder + "\0" + vocab + "q z\n" + "\0x").encode())
    write("bpe_load", "bad_id_gap", (encoder.replace(':%d}' % (len(symbols) - 1), ':%d}' % (len(symbols) + 5)) + "\0" + vocab).encode())
    write("bpe_load", "bad_missing_byte", (json.dumps({s: i for i, s in enumerate(symbols[1:])}, ensure_ascii=False) + "\0" + "").encode())
    write("bpe_load", "bad_three_fields", (encoder + "\0" + "t h e\n").encode())


# --- bpe_encode: any bytes.
def bpe_encode_seeds():
    write("bpe_encode", "english", "It's a truth universally acknowledged, they'll say: 1,024 cats!\n\n  end ")
    write("bpe_encode", "chinese", "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n")
    write("bpe_encode", "mixed_scripts", "naïve café — Ελληνικά русский 한국어 😀 \u00a0\u2028x\t\r\n")
    write("bpe_encode", "invalid_utf8", b"ok \xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 cut")
    write("bpe_encode", "contractions_spaces", "'s't're've'm'll'd 's  's   \n\n\n   x   ")


# --- mnist: one digit file.
def mnist_seeds():
    pixels = [0] * 784
    pixels[100:110] = [0.5, 1, 0.25, 0.0039215686, 1e-3, 0.99, 1, 1, 0.5, 0]
    write("mnist", "one_image", json.dumps({"data": pixels}, separators=(",", ":")))
    write("mnist", "two_images_spaced", '{ "data" : [ ' + ", ".join(["0"] * 784 + ["1"] * 784) + " ] }\n")
    write("mnist", "empty", '{"data":[]}')
    write("mnist", "bad_count", json.dumps({"data": [0] * 783}))
    write("mnist", "bad_value", '{"data":[0,1.5,-0,nan,inf,1e400,0x1]}')
    write("mnist", "bad_unclosed", '{"data":[0,0,0')


# --- text_corpus: an option byte (bit 0: strip ANSI escapes), then the file.
def text_corpus_seeds():
    write("text_corpus", "fortunes", b"\x01" + b"A fortune.\n\t-- Someone\n%\nAnother\none.\n%\n%\n   \n%\nLast, no newline")
    write("text_corpus", "crlf", b"\x00" + b"first\r\n%\r\nsecond\r\n%\r\n")
    write("text_corpus", "ansi_tang", b"\x01" + "\x1b[1;33m静夜思\x1b[m\n\x1b[32m李白\x1b[0m\n床前明月光\n%\n春眠不觉晓\n%\n".encode())
    write("text_corpus", "no_separator", b"\x36" + "plain text without any separator lines ünïcödé\n".encode())
    write("text_corpus", "invalid_utf8_escapes", b"\x03" + b"\xff\xc3(\n%\n\x1b[\x1b\x1b[99\n%%\n %\n%\n\xe2\x28\xa1\n")


# --- gzip_text: a file's bytes, read as plain text or as gzip data (mtime 0: deterministic).
def gzip_text_seeds():
    table = b"x,y\n1,2\n3,4.5\n"
    packed = gzip.compress(table, mtime=0)
    write("gzip_text", "plain_csv", table)
    write("gzip_text", "gzip_csv", packed)
    write("gzip_text", "gzip_truncated", packed[:-6])
    write("gzip_text", "gzip_corrupt_crc", packed[:-8] + bytes([packed[-8] ^ 0xFF]) + packed[-7:])
    write("gzip_text", "gzip_then_garbage", packed + b"not gzip")
    write("gzip_text", "gzip_twice", packed + gzip.compress(b"5,6\n", mtime=0))
    write("gzip_text", "magic_only", b"\x1f\x8b")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    safetensors_seeds()
    config_seeds()
    csv_seeds()
    bpe_load_seeds()
    bpe_encode_seeds()
    mnist_seeds()
    text_corpus_seeds()
    gzip_text_seeds()


if __name__ == "__main__":
    main()
