// src/layouts/console.cpp — being written (issue 10).
