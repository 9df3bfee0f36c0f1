"""Export the trained MNIST MLP and Deep MNIST CNN to ONNX and run them in ONNX Runtime.

    python examples/export_onnx.py            # `make export`

Loads the checkpoints `make train` and `make train-cnn` write (out/mnist/model.npz,
out/mnist_cnn/model.npz); a missing one is trained first (the MLP as `make train` does, the CNN
for --cnn-epochs epochs). Each net's inference graph is built again without its training ops
(no dropout), the weights are restored, and gf.onnx.export writes out/onnx/{mlp,cnn}.onnx. Then
ONNX Runtime runs both on the 10,000 test images: the script prints each net's test accuracy in
ONNX Runtime and in graphflow, and the largest difference between their logits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_cnn  # noqa: E402 - the examples' own modules
import train_mnist  # noqa: E402

import graphflow as gf  # noqa: E402
from graphflow.datasets import mnist  # noqa: E402

CHUNK = 1000  # test images per run


def mlp_graph():
    """The MLP of examples/train_mnist.py (its default sizes): (x, logits, its variables)."""
    d = train_mnist.DEFAULTS
    model = train_mnist.build_model(d["hidden"], d["loss"], "sgd", 0.1, seed=0)
    return model["x"], model["logits"], model["params"]


def cnn_graph():
    """The Deep MNIST CNN of examples/mnist_cnn.py with no dropout: (x, logits, variables)."""
    x = gf.placeholder(gf.float32, (None, 784), name="x")
    logits = mnist_cnn.build_net(x, training=False)
    return x, logits, gf.global_variables()


def ensure_checkpoint(path: str, train, args) -> None:
    if os.path.exists(path):
        print(f"loading {path}")
        return
    print(f"{path} is missing: training it first")
    with gf.Graph().as_default():
        train(args)


def export_and_compare(name: str, build, checkpoint: str, out_dir: str, test) -> dict:
    with gf.Graph().as_default():
        x, logits, variables = build()
        sess = gf.Session()
        gf.train.Saver(variables).restore(sess, checkpoint)
        path = os.path.join(out_dir, f"{name}.onnx")
        t0 = time.perf_counter()
        gf.onnx.export(sess, x, logits, path)
        seconds = time.perf_counter() - t0
        import onnxruntime as ort
        runtime = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        images, labels = test
        ours = np.concatenate([sess.run(logits, {x: images[k:k + CHUNK]})
                               for k in range(0, len(images), CHUNK)])
        theirs = np.concatenate([runtime.run(None, {x.op_name: images[k:k + CHUNK]})[0]
                                 for k in range(0, len(images), CHUNK)])
    result = {"file": path, "export_seconds": seconds,
              "onnx_accuracy": float(np.mean(theirs.argmax(1) == labels)),
              "graphflow_accuracy": float(np.mean(ours.argmax(1) == labels)),
              "max_abs_difference": float(np.abs(theirs - ours).max())}
    print(f"{name}: wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, {seconds:.2f} s); "
          f"test accuracy ONNX Runtime {100 * result['onnx_accuracy']:.2f}%, graphflow "
          f"{100 * result['graphflow_accuracy']:.2f}%; largest logit difference "
          f"{result['max_abs_difference']:.2e}")
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlp", default=os.path.join("out", "mnist", "model.npz"))
    p.add_argument("--cnn", default=os.path.join("out", "mnist_cnn", "model.npz"))
    p.add_argument("--cnn-epochs", type=int, default=1)
    p.add_argument("--out", default=os.path.join("out", "onnx"))
    p.add_argument("--data-dir", default=None, help="a folder with the four MNIST IDX files")
    args = p.parse_args(argv)
    ensure_checkpoint(args.mlp, train_mnist.train, train_mnist.parse_args(
        ["--out", os.path.dirname(args.mlp), "--quiet"]
        + (["--data-dir", args.data_dir] if args.data_dir else [])))
    ensure_checkpoint(args.cnn, mnist_cnn.train, mnist_cnn.parse_args(
        ["--out", os.path.dirname(args.cnn), "--epochs", str(args.cnn_epochs), "--quiet"]
        + (["--data-dir", args.data_dir] if args.data_dir else [])))
    _, _, (x_test, y_test) = mnist.load(args.data_dir)
    os.makedirs(args.out, exist_ok=True)
    for name, build, checkpoint in (("mlp", mlp_graph, args.mlp), ("cnn", cnn_graph, args.cnn)):
        export_and_compare(name, build, checkpoint, args.out, (x_test, y_test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
