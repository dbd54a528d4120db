"""Schema migrations: NNNN_name.sql brings a db from version NNNN-1 to NNNN."""
