"""models layer: the model systems as data — configurations, their construction and simple transforms."""
