def available():
    return True


def experiments():
    return []
