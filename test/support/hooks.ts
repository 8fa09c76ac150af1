import { ctx, resetDatabase, startContext, stopTestS3 } from './context.js';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    await startContext();
  },
  async beforeEach() {
    await resetDatabase(ctx().db);
  },
  async afterAll() {
    await ctx().db.close();
    await stopTestS3();
  },
};
