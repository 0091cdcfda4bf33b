// Hello world for Nuclio's Node.js runtime: every event gets the same friendly answer.
exports.handler = function (context, event) {
  context.logger.info('Saying hello');
  context.callback('Hello, from Nuclio :]');
};
