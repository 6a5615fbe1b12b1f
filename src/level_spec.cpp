// src/level_spec.cpp — being written (issue 10).
