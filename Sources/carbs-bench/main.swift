print("carbs-bench: not built yet")
