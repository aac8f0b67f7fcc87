"""The PyTorch peer of `nabla train` in bench/cnn.sh: the CNN
conv 32 3x3 pad 1 relu, maxpool 2, conv 64 3x3 pad 1 relu, maxpool 2, dense 128 relu,
dropout 0.3, dense 10 on Fashion-MNIST as Debian installs it (read with gzip and numpy,
pixels scaled to [0, 1] in float32 once), initialised as `nabla train --init kaiming`
does (weights U(-sqrt(6/fan_in), sqrt(6/fan_in)), biases U(-1/sqrt(fan_in),
1/sqrt(fan_in))), cross-entropy, Adam lr 1e-3, batch 64 reshuffled every epoch (the short
last batch kept), as a user writes it. Each epoch times the training steps in training
mode; the test accuracy is measured after each epoch in evaluation mode, outside the
timing. Prints one JSON object: per-epoch seconds, the final test accuracy, the thread
count and the peak RSS.

usage: /usr/bin/python3 bench/cnn_torch.py [threads (0 = PyTorch's default)] [epochs >= 1] [seed]
"""
import gzip
import json
import math
import os
import resource
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
    images = read_idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = read_idx(f"{split}-labels-idx1-ubyte.gz", 8)
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def kaiming_(module):
    if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
        fan_in = module.weight[0].numel()
        bound = math.sqrt(6 / fan_in)
        torch.nn.init.uniform_(module.weight, -bound, bound)
        torch.nn.init.uniform_(module.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))


def network():
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    model.apply(kaiming_)
    return model


def test_accuracy(model, test_x, test_y):
    model.eval()
    with torch.no_grad():
        correct = sum((model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item()
                      for i in range(0, len(test_y), 1000))
    return correct / len(test_y)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    if threads < 0 or epochs < 1:
        print(f"usage: {sys.argv[0]} [threads >= 0] [epochs >= 1] [seed]", file=sys.stderr)
        sys.exit(2)
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    train_x, train_y = load("train")
    test_x, test_y = load("t10k")
    model = network()
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(train_y)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n)
        loss_sum = 0.0
        for first in range(0, n, BATCH):
            index = order[first:first + BATCH]
            x, y = train_x[index], train_y[index]
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "loss": loss_sum / n, "seconds": seconds,
                        "test_accuracy": test_accuracy(model, test_x, test_y)})
    print(json.dumps({
        "peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
        "history": history, "test_accuracy": history[-1]["test_accuracy"],
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
