print("carbs-transport-bench: not yet")
