export * from './qemu-img';
export * from './virsh';
export * from './host';
