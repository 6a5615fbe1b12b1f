// src/layouts/ecs.cpp — being written (issue 10).
