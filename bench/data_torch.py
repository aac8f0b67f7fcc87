"""Fashion-MNIST in PyTorch, the peer of data_nabla.c: read the gzip IDX training set
(as torchvision does: decompress, then the bytes as a uint8 tensor, .float() / 255) and
walk one shuffled epoch of batches of 64, both with a DataLoader over a TensorDataset
(how users write it) and with index_select on a permutation (the fastest plain way).
Prints medians in the same format."""
import gzip
import sys
import time

import torch

DIR = "/usr/share/datasets/fashion-mnist"
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def load():
    with gzip.open(DIR + "/train-images-idx3-ubyte.gz", "rb") as f:
        raw = f.read()
    n, rows, cols = (int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(3))
    x = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(n, rows * cols).float().div(255)
    with gzip.open(DIR + "/train-labels-idx1-ubyte.gz", "rb") as f:
        y = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8).long()
    return x, y


def median(values):
    return sorted(values)[len(values) // 2]


loads = []
for _ in range(repeats):
    start = time.perf_counter()
    x, y = load()
    loads.append(time.perf_counter() - start)

torch.manual_seed(1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True)
dataloader_epochs, index_epochs = [], []
for _ in range(max(1, repeats // 2)):
    start = time.perf_counter()
    for xb, yb in loader:
        pass
    dataloader_epochs.append(time.perf_counter() - start)
for _ in range(repeats):
    start = time.perf_counter()
    perm = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], 64):
        idx = perm[i:i + 64]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
    index_epochs.append(time.perf_counter() - start)
print(f"pytorch load {median(loads):.3f} s (first {loads[0]:.3f} s)  epoch of batches {median(index_epochs):.4f} s "
      f"(DataLoader {median(dataloader_epochs):.4f} s)  pixel sum {x.double().sum().item():.3f}")
