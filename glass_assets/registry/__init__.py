"""The MLflow side of the studies: the tracking resource and model names (:mod:`.tracking`), the propensity networks'
registry and pyfunc (:mod:`.propensity`, :mod:`.propensity_pyfunc`) and their training runs' layout for comparing
GlassMLP with tGlassMLP (:mod:`.propensity_runs`), the CNN's logged split, gridding and accuracies
(:mod:`.cnn_split`), and the training splits as MLflow datasets (:mod:`.training_datasets`)."""
