"""The peer of bench/mlp_nabla.c in PyTorch: an MLP 784-256-128-10 (ReLU) on 60,000
random inputs in [0, 1) with random labels 0..9, batch 64 (shuffled every epoch),
torch.nn.Linear's default initialisation (Kaiming-uniform), cross-entropy, SGD with
momentum 0.9 and lr 0.05, float32. Prints the median of the epochs after the first.

usage: /usr/bin/python3 bench/mlp_torch.py [threads (0 = PyTorch's default)] [epochs >= 2]
"""
import statistics
import sys
import time

import torch

SAMPLES, INPUTS, CLASSES, BATCH = 60000, 784, 10, 64


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    if threads < 0 or epochs < 2:
        print(f"usage: {sys.argv[0]} [threads >= 0] [epochs >= 2]", file=sys.stderr)
        sys.exit(2)
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(1)
    images = torch.rand(SAMPLES, INPUTS)
    labels = torch.randint(0, CLASSES, (SAMPLES,))
    model = torch.nn.Sequential(
        torch.nn.Linear(INPUTS, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, CLASSES))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    seconds = []
    loss_sum = 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(SAMPLES)
        loss_sum = 0.0
        for first in range(0, SAMPLES, BATCH):
            index = order[first:first + BATCH]
            x, y = images[index], labels[index]
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds[1:])
    print(f"torch threads {torch.get_num_threads()} epoch_seconds_median {median:.4f} "
          f"loss {loss_sum / SAMPLES:.4f} version {torch.__version__}")


if __name__ == "__main__":
    main()
