#!/usr/bin/env python3
"""Load an fmnist CNN2 model.safetensors by hand with numpy (no safetensors or
deep-learning package) and evaluate it twice: in our NCHW layout, and in
Keras' NHWC layout after the conversions the README documents (conv kernels
to [kh, kw, in, out], the first dense kernel's rows from C,H,W to H,W,C order).

  python3 scripts/load_safetensors.py RUN_DIR/best [DATA_DIR] [N]

Prints the accuracy of both on the first N test images (default: the
model's test_size), which should equal what the run recorded.
"""
import gzip, json, os, struct, sys
import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (name, e["dtype"])
        b, end = e["data_offsets"]
        tensors[name] = np.frombuffer(body[b:end], dtype="<f4").reshape(e["shape"])
    return tensors, meta


def idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        return np.frombuffer(data[16:], np.uint8).reshape(count, 28, 28)
    return np.frombuffer(data[8:], np.uint8)


def bn(x, t, name, axis):
    shape = [1] * x.ndim
    shape[axis] = -1
    g, b = t[name + ".gamma"].reshape(shape), t[name + ".beta"].reshape(shape)
    m, v = t[name + ".moving_mean"].reshape(shape), t[name + ".moving_variance"].reshape(shape)
    return (x - m) / np.sqrt(v + 1e-3) * g + b


def conv3x3_same_nchw(x, k, bias):  # k: [out, in, 3, 3]
    n, c, h, w = x.shape
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([p[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=2)  # n,c,9,h,w
    y = np.einsum("ncshw,ocs->nohw", cols, k.reshape(k.shape[0], c, 9))
    return y + bias.reshape(1, -1, 1, 1)


def conv3x3_same_nhwc(x, k, bias):  # k: [3, 3, in, out] (Keras)
    n, h, w, c = x.shape
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = sum(np.einsum("nhwc,co->nhwo", p[:, i:i + h, j:j + w, :], k[i, j]) for i in range(3) for j in range(3))
    return y + bias


def pool_nchw(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def pool_nhwc(x):
    n, h, w, c = x.shape
    if h % 2:  # TensorFlow 'same': the extra row/column goes bottom/right
        x = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=-np.inf)
        h, w = h + 1, w + 1
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def cnn2_nchw(x, t):
    for blk in (1, 2):
        b = bn(x, t, f"batch_normalization_{blk}", 1)
        c = np.maximum(conv3x3_same_nchw(b, t[f"conv2d_{blk}.kernel"], t[f"conv2d_{blk}.bias"]), 0)
        x = pool_nchw(b + c)
    x = bn(x, t, "batch_normalization_3", 1).reshape(len(x), -1)  # flatten C,H,W
    x = np.maximum(x @ t["dense_1.kernel"] + t["dense_1.bias"], 0)
    return x @ t["dense_2.kernel"] + t["dense_2.bias"]


def to_keras(t):
    k = dict(t)
    for blk in (1, 2):
        k[f"conv2d_{blk}.kernel"] = t[f"conv2d_{blk}.kernel"].transpose(2, 3, 1, 0)  # -> [kh, kw, in, out]
    d = t["dense_1.kernel"]  # rows c*49 + h*7 + w  ->  h*7*32 + w*32 + c
    k["dense_1.kernel"] = d.reshape(32, 7, 7, -1).transpose(1, 2, 0, 3).reshape(d.shape)
    return k


def cnn2_nhwc(x, k):
    for blk in (1, 2):
        b = bn(x, k, f"batch_normalization_{blk}", 3)
        c = np.maximum(conv3x3_same_nhwc(b, k[f"conv2d_{blk}.kernel"], k[f"conv2d_{blk}.bias"]), 0)
        x = pool_nhwc(b + c)
    x = bn(x, k, "batch_normalization_3", 3).reshape(len(x), -1)  # Keras Flatten: H,W,C
    x = np.maximum(x @ k["dense_1.kernel"] + k["dense_1.bias"], 0)
    return x @ k["dense_2.kernel"] + k["dense_2.bias"]


def main():
    model_dir = sys.argv[1]
    data_dir = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    t, meta = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    assert meta.get("fmnist.architecture") == "CNN2", meta.get("fmnist.architecture")
    n = int(sys.argv[3]) if len(sys.argv) > 3 else int(meta["fmnist.test_size"])
    imgs = idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))[:n].astype(np.float32) / 255
    labels = idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))[:n]
    a = cnn2_nchw(imgs[:, None, :, :], t)
    b = cnn2_nhwc(imgs[:, :, :, None], to_keras(t))
    print(f"{len(t)} tensors; recorded test accuracy {float(meta['fmnist.test_acc']):.4f} on {meta['fmnist.test_size']} images (epoch {meta['fmnist.epoch']})")
    print(f"numpy NCHW accuracy {np.mean(a.argmax(1) == labels):.4f}, Keras-layout NHWC accuracy {np.mean(b.argmax(1) == labels):.4f}, "
          f"max |logit difference| {np.abs(a - b).max():.2e}")


if __name__ == "__main__":
    main()
