// src/layouts/datadog.cpp — being written (issue 10).
