"""The PyTorch peer of `nabla train` in bench/mlp.sh: an MLP 784-256-128-10 (ReLU) on
Fashion-MNIST as Debian installs it (/usr/share/datasets/fashion-mnist, read with gzip
and numpy, pixels scaled to [0, 1] in float32 once), torch.nn.Linear's default
initialisation, cross-entropy, SGD with momentum 0.9 and lr 0.05, batch 64 reshuffled
every epoch (the short last batch kept), as a user writes it. Each epoch times the
training steps, the loss and the training accuracy of the batches as trained (what
`nabla train` reports per epoch); the test accuracy is measured after each epoch,
outside the timing. Prints one JSON object: per-epoch seconds, the median of the
epochs after the first, the final test accuracy, the thread count and the peak RSS.

usage: /usr/bin/python3 bench/mlp_torch.py [threads (0 = PyTorch's default)] [epochs >= 2] [seed]
"""
import gzip
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

DATA = os.environ.get("NABLA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
BATCH = 64


def read_idx(name, header):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def load(split):
    images = read_idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = read_idx(f"{split}-labels-idx1-ubyte.gz", 8)
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    if threads < 0 or epochs < 2:
        print(f"usage: {sys.argv[0]} [threads >= 0] [epochs >= 2] [seed]", file=sys.stderr)
        sys.exit(2)
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    train_x, train_y = load("train")
    test_x, test_y = load("t10k")
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    n = len(train_y)
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        for first in range(0, n, BATCH):
            index = order[first:first + BATCH]
            x, y = train_x[index], train_y[index]
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            test_accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
        history.append({"epoch": epoch, "loss": loss_sum / n, "train_accuracy": correct / n,
                        "test_accuracy": test_accuracy, "seconds": seconds})
    print(json.dumps({
        "peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
        "history": history, "test_accuracy": history[-1]["test_accuracy"],
        "epoch_seconds_median": statistics.median(h["seconds"] for h in history[1:]),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
