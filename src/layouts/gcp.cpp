// src/layouts/gcp.cpp — being written (issue 10).
