"""GlassBench KA2D [R] as an outside test set: its structures and bond-breaking labels in the warehouse, and the
registered propensity models scored on them."""
