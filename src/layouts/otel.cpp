// src/layouts/otel.cpp — being written (issue 10).
