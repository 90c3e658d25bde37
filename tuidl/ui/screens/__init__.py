"""The app's screens: build, train, compare, help."""
