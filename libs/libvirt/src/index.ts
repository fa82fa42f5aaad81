export * from './qemu-img';
export * from './virsh';
export * from './host';
export * from './domain-xml';
export * from './inventory';
export * from './domain-allowlist';
export * from './virt-install';
export * from './virsh-domain';
