// src/redaction.cpp — being written (issue 10).
