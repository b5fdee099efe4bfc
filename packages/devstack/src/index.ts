export { type LocalStack, type LocalStackOptions, startLocalStack } from './localStack.js';
