# Hello world for Nuclio's Python runtime: every event gets the same friendly answer.


def handler(context, event):
    context.logger.info('Saying hello')
    return 'Hello, from Nuclio :]'
