"""Learning layer: networks trained on structure to predict dynamics — the CNN classifier and Grad-CAM of [O],
GlassMLP [G] and tGlassMLP [J], and the scores that compare them. Imports the models, structure and dynamics
layers; nothing below imports it."""
