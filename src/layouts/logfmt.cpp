// src/layouts/logfmt.cpp — being written (issue 10).
