"""Code every codepipe service uses: models, settings, AWS access, the executor loop."""
