// The handler a pre-started processor runs once before it is any function's (processor/pooled.ts): it
// has the nodejs runtime load a CommonJS module and call it, so that this code is compiled before a
// function woken from zero needs it. Never a function's handler.
exports.handler = (context, event) => context.callback(`warm-up ${event.path}`);
