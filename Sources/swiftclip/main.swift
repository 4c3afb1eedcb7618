print("swiftclip")
