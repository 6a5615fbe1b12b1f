// src/pool.cpp — the context-carrying thread pool (issue 4; being written).
