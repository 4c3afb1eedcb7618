// DataPipeline module.
