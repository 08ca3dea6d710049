print("carbs: not built yet")
