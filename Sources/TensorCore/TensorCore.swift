// TensorCore module.
