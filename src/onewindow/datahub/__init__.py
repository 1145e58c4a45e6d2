"""数据中台: department sources, standardisation, validation, identity resolution, grants."""
