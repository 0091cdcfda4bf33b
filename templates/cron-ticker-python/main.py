# Counts the ticks of its cron trigger and reports the count when invoked over HTTP.
#
# The count lives in context.user_data, which persists across events of one worker only:
# it restarts at zero when the function is redeployed, and with several workers each keeps its own.


def init_context(context):
    context.user_data.ticks = 0


def handler(context, event):
    kind = getattr(event.trigger, 'kind', '')

    if kind == 'cron':
        context.user_data.ticks = getattr(context.user_data, 'ticks', 0) + 1
        body = event.body
        if isinstance(body, (bytes, bytearray)):
            body = body.decode('utf-8', errors='replace')
        context.logger.info_with('Tick',
                                 count=context.user_data.ticks,
                                 body=str(body),
                                 ticker=event.get_header('X-Ticker'))
        return ''

    # Any other trigger (HTTP): answer the number of ticks so far.
    return str(getattr(context.user_data, 'ticks', 0))
