// Optim module.
