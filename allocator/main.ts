// Placeholder until this role's issue lands; replaced by its composition root.
export async function main(_argv: string[]): Promise<number> {
  console.error('eni-ipam: "allocator/main" is not built yet');
  return 2;
}
