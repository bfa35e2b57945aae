"""hnswlib on the vectors of `guichet bench vectors`, for a ratio measured in
the same run: the same HNSW parameters as Guichet's index (M, ef_construction,
ef_search), every core for the build, one query at a time.

Usage: python bench_hnswlib.py DATA QUERIES EXACT N DIM M EF_CONSTRUCTION EF_SEARCH
(DATA and QUERIES: little-endian f32 rows; EXACT: the exact top-10 ids of
each query, little-endian u32.) Prints one JSON line.
"""
import json
import os
import sys
import time

import hnswlib
import numpy as np

data_path, queries_path, exact_path = sys.argv[1:4]
n, dim, m, ef_c, ef_s = (int(x) for x in sys.argv[4:9])
data = np.fromfile(data_path, dtype="<f4").reshape(n, dim)
queries = np.fromfile(queries_path, dtype="<f4").reshape(-1, dim)
exact = np.fromfile(exact_path, dtype="<u4").reshape(len(queries), 10)

index = hnswlib.Index(space="ip", dim=dim)
t = time.perf_counter()
index.init_index(max_elements=n, ef_construction=ef_c, M=m)
index.add_items(data, np.arange(n), num_threads=os.cpu_count())
build = time.perf_counter() - t
index.set_ef(ef_s)
index.set_num_threads(1)
times, hits = [], 0
for q, want in zip(queries, exact):
    t = time.perf_counter()
    labels, _ = index.knn_query(q, k=10)
    times.append((time.perf_counter() - t) * 1e3)
    hits += len(set(labels[0].tolist()) & set(want.tolist()))
times.sort()
print(json.dumps({
    "build_s": build,
    "p50_ms": times[len(times) // 2],
    "p99_ms": times[min(len(times) - 1, round((len(times) - 1) * 0.99))],
    "recall": hits / (10 * len(queries)),
}))
