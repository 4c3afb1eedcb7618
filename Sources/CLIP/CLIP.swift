// CLIP module.
