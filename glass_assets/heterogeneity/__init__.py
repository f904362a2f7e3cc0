"""Dynamic heterogeneity and its length scales [J]: χ4, chord and attention lengths, the summary figure."""
