"""Teacher/student wrappers: a frozen teacher, a student, and the distillation losses between them."""
